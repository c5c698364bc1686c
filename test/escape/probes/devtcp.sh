#!/bin/sh
# Direct TCP through bash's /dev/tcp, ignoring the proxy (red-team case 11.4 #41, docs/peers.md).
# usage: devtcp.sh PORT MARKER   (the host's server on 127.0.0.1:PORT sends MARKER)
port=$1 marker=$2
[ -n "$port" ] && [ -n "$marker" ] || { echo "PROBE-ERROR: usage: devtcp.sh PORT MARKER"; exit 2; }
[ -x /bin/bash ] || { echo "PROBE-ERROR: /bin/bash is missing"; exit 2; }
out=$(timeout 3 /bin/bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$port"' && head -c 200 <&3' 2>&1)
case $out in
  *"$marker"*) echo "ESCAPED: bash /dev/tcp reached the host's server 127.0.0.1:$port"; exit 0 ;;
esac
echo "BLOCKED: bash /dev/tcp/127.0.0.1/$port: $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-200)"
exit 1
