#!/bin/sh
# curl with --noproxy '*' straight to the host's loopback HTTP server, though HTTP_PROXY is set
# (red-team case 11.4 #41, docs/peers.md). usage: curl-noproxy.sh PORT MARKER
port=$1 marker=$2
[ -n "$port" ] && [ -n "$marker" ] || { echo "PROBE-ERROR: usage: curl-noproxy.sh PORT MARKER"; exit 2; }
command -v curl >/dev/null 2>&1 || { echo "PROBE-ERROR: curl is missing"; exit 2; }
out=$(curl --noproxy '*' -sS -m 3 "http://127.0.0.1:$port/" 2>&1)
case $out in
  *"$marker"*) echo "ESCAPED: curl --noproxy reached the host's server 127.0.0.1:$port"; exit 0 ;;
esac
echo "BLOCKED: curl --noproxy 127.0.0.1:$port: $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-200)"
exit 1
