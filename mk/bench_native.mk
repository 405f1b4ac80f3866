# bench_wasm's second native baseline: the workload built by clang -O2, the
# compiler that builds the .wasm, so ours/native compares one front end's
# code with itself (gcc's heapsort, branchy where clang uses cmov, is 2.5x
# slower on this machine). Symbols renamed so the gcc copy can coexist.
BENCH_CLANG_OBJ := $(BUILD)/obj/bench/bench_work_clang.o
$(BENCH_CLANG_OBJ): tests/guests/bench_work.c
	@mkdir -p $(dir $@)
	$(Q)clang -std=c17 -O2 -fPIC -c -o $@ $< -Dwork_sha256=clang_work_sha256 \
	  -Dwork_sort=clang_work_sort -Dwork_fib=clang_work_fib \
	  -Dwork_call_host=clang_work_call_host -Dbench_nop=clang_bench_nop
$(BUILD)/bench/bench_wasm: $(BENCH_CLANG_OBJ)
$(BUILD)/bench/bench_wasm: LDFLAGS += $(BENCH_CLANG_OBJ)
