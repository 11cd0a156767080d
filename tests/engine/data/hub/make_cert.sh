#!/bin/sh
# Makes the self-signed certificate the hub tests serve HTTPS with (test_hub_tls.cpp): valid for
# 127.0.0.1 for 100 years, so the tests never expire. Run from this folder; commit both files.
set -e
openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout selfsigned.key -out selfsigned.crt
