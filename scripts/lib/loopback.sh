# scripts/lib/loopback.sh - what the scripts that start servers on loopback share. Sourced.

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now (the OS's choice).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
