;; Reads far past the end of linear memory.
(module (memory 1) (func (export "run") (result i64) (i64.load offset=0xfffffff0 (i32.const -1))))
