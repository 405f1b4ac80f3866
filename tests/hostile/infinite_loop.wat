;; Spins forever: must end at the call's deadline.
(module (func (export "run") (loop br 0)))
