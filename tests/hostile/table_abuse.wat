;; Indirect calls through a null slot, past the table and with the wrong type.
(module
  (type $v (func)) (type $i (func (result i32)))
  (table 4 funcref) (elem (i32.const 0) $f)
  (func $f (result i32) (i32.const 1))
  (func (export "run") (param i32) (result i32)
    (if (i32.eq (local.get 0) (i32.const 0)) (then (call_indirect (type $v) (i32.const 0))))
    (call_indirect (type $i) (local.get 0))))
