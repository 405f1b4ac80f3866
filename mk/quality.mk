# Quality targets of issue #18: coverage, soak, scan-build (docs/testing.md).
.PHONY: coverage soak scan

# `make coverage`: gcc --coverage tree in build/cov, the whole suite, lcov
# table per folder of src/ (scripts/coverage.sh). COV_JOBS=N builds with -jN.
coverage:
	$(Q)bash scripts/coverage.sh
