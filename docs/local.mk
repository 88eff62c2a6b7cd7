# docs/local.mk - the tutorial.  Every C block of it is compiled, and its
# programs run, by tests/tutorial.sh.  Installed in $(docdir) (the README
# points to it), with the examples' sources (examples/local.mk);
# tests/install-docs.sh checks both.
dist_doc_DATA = docs/tutorial.md
