#!/bin/sh
# Renders a balancer config template of docker/nginx/ or docker/haproxy/
# (the same files session-lab renders for --balancer nginx|haproxy) for the
# compose topology, where session-lab is not running:
#
#   render-config.sh TEMPLATE OUTPUT name=value...
#
# Each {{name}} outside comment lines becomes its value; a literal \n in a
# value starts a new line with the placeholder line's indentation. A
# placeholder without a value is an error (exit 2). POSIX sh and awk only,
# so it runs in the nginx and haproxy images as they are.
set -eu
if [ "$#" -lt 2 ]; then
  echo "usage: render-config.sh TEMPLATE OUTPUT name=value..." >&2
  exit 2
fi
template=$1
output=$2
shift 2
RENDER_PAIRS=$(printf '%s\n' "$@")
export RENDER_PAIRS
awk '
BEGIN {
  n = split(ENVIRON["RENDER_PAIRS"], list, "\n")
  for (i = 1; i <= n; i++) {
    eq = index(list[i], "=")
    if (eq > 1) value[substr(list[i], 1, eq - 1)] = substr(list[i], eq + 1)
  }
}
/^[ \t]*#/ { print; next }
{
  line = $0
  match(line, /^[ \t]*/)
  indent = substr(line, 1, RLENGTH)
  out = ""
  while (match(line, /[{][{] *[a-z_]+ *[}][}]/)) {
    name = substr(line, RSTART + 2, RLENGTH - 4)
    gsub(/ /, "", name)
    if (!(name in value)) {
      printf "render-config.sh: %s line %d: no value for {{%s}}\n", FILENAME, NR, name > "/dev/stderr"
      failed = 1
      exit 2
    }
    v = value[name]
    gsub(/\\n/, "\n" indent, v)
    out = out substr(line, 1, RSTART - 1) v
    line = substr(line, RSTART + RLENGTH)
  }
  print out line
}
END { if (failed) exit 2 }
' "$template" >"$output"
