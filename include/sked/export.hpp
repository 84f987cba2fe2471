#pragma once
// SKED_API marks what libsked exports. The library is compiled with hidden visibility, so a shared
// libsked.so exports its API and nothing else: not its private helpers, not the third-party
// templates it instantiates. A static library is unaffected.

#if defined(__GNUC__) || defined(__clang__)
#define SKED_API __attribute__((visibility("default")))
#else
#define SKED_API
#endif
