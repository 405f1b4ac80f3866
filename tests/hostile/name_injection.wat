;; An export name that would close wasm2c's C comment and inject code.
(module (func (export "x*/ __attribute__((constructor)) static void pwn(void){} /*")))
