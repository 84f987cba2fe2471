#!/usr/bin/env bash
# Every SQL statement in sked's sources is made of string literals, with values bound as parameters
# (?1, :name): no value is formatted or concatenated into SQL text. Each C++ statement that holds an
# SQL literal is checked for fmt::format, std::to_string and `+`/`+=` of anything but a literal. The
# allowed exceptions are PRAGMAs whose value is a compile-time constant or validated first.
# Usage: sql_literals.sh SOURCE_DIR
set -uo pipefail
src="$1"
find "$src" \( -name '*.cpp' -o -name '*.hpp' \) -print0 | sort -z | xargs -0 perl -0777 -ne '
  my $text = $_;
  my $offset = 0;
  for my $stmt (split /;/, $text) {
    my $line = (substr($text, 0, $offset) =~ tr/\n//) + 1;
    $offset += length($stmt) + 1;
    next unless $stmt =~ /"\s*(SELECT|INSERT|UPDATE|DELETE|PRAGMA|CREATE|ALTER|DROP|WITH|BEGIN)\b/;
    next if $stmt =~ /fmt::format\("PRAGMA (synchronous|application_id|user_version) = \{\}"/;
    my $code = $stmt;
    $code =~ s/R"sql\(.*?\)sql"/""/gs;          # raw literals
    $code =~ s/"(?:[^"\\\n]|\\.)*"/""/g;        # ordinary literals
    if ($code =~ /fmt::format|std::to_string|\+=?\s*(?!"")[A-Za-z_(]/) {
      (my $shown = $stmt) =~ s/^\s+//;
      $shown =~ s/\s+/ /g;
      print "$ARGV:$line: ", substr($shown, 0, 160), "\n";
      $bad = 1;
    }
  }
  END { exit($bad ? 1 : 0) }
'
if [[ $? -ne 0 ]]; then
  echo "FAIL: SQL built from values (bind them as ?N or :name parameters instead)"
  exit 1
fi
echo "ok: every SQL statement is literals with bound parameters"
