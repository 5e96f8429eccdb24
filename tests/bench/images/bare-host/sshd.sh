#!/bin/sh
# Start sshd on 127.0.0.1:$SSH_PORT for the user spark, key login only.
set -eu
: "${SSH_PORT:?set SSH_PORT}" "${AUTHORIZED_KEY:?set AUTHORIZED_KEY}"
ssh-keygen -A >/dev/null
install -d -m 0700 -o spark -g spark /home/spark/.ssh
printf '%s\n' "$AUTHORIZED_KEY" > /home/spark/.ssh/authorized_keys
chown spark:spark /home/spark/.ssh/authorized_keys
chmod 0600 /home/spark/.ssh/authorized_keys
exec /usr/sbin/sshd -D -e -o ListenAddress=127.0.0.1 -o Port="$SSH_PORT" \
    -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
    -o PermitRootLogin=no -o AllowUsers=spark -o UseDNS=no
