;; Grows memory one page at a time until refused; returns the page count,
;; which the instance cap must bound.
(module
  (memory 1)
  (func (export "run") (result i32)
    (block $done
      (loop $more
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        ;; touch the new page so it is really committed
        (i32.store (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 4))
                   (i32.const 1))
        (br $more)))
    (memory.size)))
