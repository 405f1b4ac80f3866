;; Asks for a table of 100 million entries at instantiation.
(module (table 100000000 funcref) (func (export "run")))
