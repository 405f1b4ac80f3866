;; Writes just past the end of linear memory.
(module (memory 1) (func (export "run") (i32.store (i32.const 65534) (i32.const 7))))
