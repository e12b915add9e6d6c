#!/usr/bin/env bash
# make_certs.sh DIR - makes throw-away TLS material for the https callback tests.
#
# Everything is generated at test time (nothing secret is kept in the repository):
#   DIR/ca.pem, ca.key              the test CA
#   DIR/server.pem, server.key      a server certificate for 127.0.0.1 and localhost, signed by it
#   DIR/client.pem                  a client certificate AND its key in one file (--pem), signed by it
#   DIR/client.crt, client.key      the same, apart
#   DIR/other-ca.pem, other-ca.key  a second CA that signed nothing here (verification must fail)
# EC P-256 keys: quick to make on a busy machine. Exit 0, or non-zero with openssl's message.
set -euo pipefail

dir=${1:?usage: make_certs.sh DIR}
mkdir -p "$dir"
cd "$dir"

days=2
newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

make_ca() { # NAME CN
    newkey "$1.key"
    openssl req -x509 -new -key "$1.key" -sha256 -days "$days" -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem" 2>/dev/null
}

sign() { # NAME CN EXTFILE
    newkey "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 \
        -days "$days" -extfile "$3" -out "$1.crt" 2>/dev/null
    rm -f "$1.csr"
}

make_ca ca "TimeRush test CA"
make_ca other-ca "TimeRush unrelated CA"

cat >server.ext <<'X'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
X
cat >client.ext <<'X'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
X
sign server "127.0.0.1" server.ext
sign client "timerush-test-client" client.ext
mv server.crt server.pem
cat client.crt client.key >client.pem
chmod 600 ./*.key client.pem

# Fail here, not in the test, when something above went wrong.
openssl verify -CAfile ca.pem server.pem client.crt >/dev/null
