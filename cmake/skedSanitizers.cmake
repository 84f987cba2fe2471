# Sanitizers for sked's own targets, from SKED_SANITIZE ("address,undefined" or "thread").
function(sked_set_sanitizers target)
  if(SKED_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${SKED_SANITIZE} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PUBLIC -fsanitize=${SKED_SANITIZE})
  endif()
endfunction()
