# The order of our attention kernel's products (GMMA), their fences (ARRIVE), the waits for them
# (WAIT1: all but the newest group, WAIT0: all) and runs of exponentials (EX2xN), one line per
# flash_fwd_kernel instantiation, from `cuobjdump -sass` output (dev/profile-flash.sh,
# dev/flash-variants.sh).
function flush_ex2() { if (ex2) { order = order " EX2x" ex2; ex2 = 0; last = "M" } }
function flush() {
  flush_ex2()
  if (name ~ /flash_fwd/) { sub(/^.*flash_fwd_kernel/, "flash_fwd_kernel", name); print name ":" order }
}
/Function :/ { if (name) flush(); name = $3; ex2 = 0; order = ""; last = ""; next }
/WARPGROUP.DEPBAR/ { flush_ex2(); order = order ($0 ~ /0x1/ ? " WAIT1" : " WAIT0"); last = "D"; next }
/WARPGROUP.ARRIVE/ { flush_ex2(); order = order " ARRIVE"; last = "A"; next }
/GMMA\./ { flush_ex2(); if (last != "G") order = order " GMMA"; last = "G"; next }
/MUFU.EX2/ { ex2++; next }
END { flush() }
