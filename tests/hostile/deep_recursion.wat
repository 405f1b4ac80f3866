;; Unbounded recursion with a fat frame: must trap as stack exhaustion.
(module
  (func $r (export "run") (param i64 i64 i64 i64) (result i64)
    (call $r (i64.add (local.get 0) (i64.const 1)) (local.get 1) (local.get 2) (local.get 3))))
