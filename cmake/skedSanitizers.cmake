# Sanitizers for sked's own targets, from SKED_SANITIZE ("address,undefined" or "thread").
function(sked_set_sanitizers target)
  if(SKED_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${SKED_SANITIZE} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    # PRIVATE: every executable of sked's own calls this function itself, and a program that links an
    # installed or embedded sked must not be switched to a sanitizer runtime behind its back.
    target_link_options(${target} PRIVATE -fsanitize=${SKED_SANITIZE})
  endif()
endfunction()
