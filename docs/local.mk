# docs/local.mk - the tutorial.  Every C block of it is compiled, and its
# programs run, by tests/tutorial.sh.
EXTRA_DIST += docs/tutorial.md
