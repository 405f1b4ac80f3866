;; Declares 1 GiB of initial memory: above the 64 MiB default cap.
(module (memory 16384) (func (export "run")))
