;; A data segment that lands past the end of memory: instantiation traps.
(module (memory 1) (data (i32.const 65530) "0123456789") (func (export "run")))
