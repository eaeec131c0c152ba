# tests/root-test.sh — sourced by the root-only shell tests (privdrop.sh,
# faults.sh): they skip unless run as root, need the built module, run httpd
# as root with an unprivileged User (created if missing) and work in a
# directory of their own under /tmp.
#
#   . "$(dirname "$0")/root-test.sh" NAME
# sets USER_NAME GROUP_NAME HTTPD MODULES SO W (SO from PREP_SO, else
# TOP/.libs/mod_prep.so; TOP must be set); exits 0 ("skipped") when not root.
ROOT_TEST_NAME=$1
USER_NAME=${PREP_TEST_USER:-prepci}
HTTPD=${HTTPD:-/usr/sbin/apache2}
MODULES=${MODULES:-/usr/lib/apache2/modules}
SO=${PREP_SO:-$TOP/.libs/mod_prep.so}

if [ "$(id -u)" != 0 ]; then
    echo "$ROOT_TEST_NAME: not root, skipped"
    exit 0
fi
[ -e "$SO" ] || { echo "$ROOT_TEST_NAME: $SO not built"; exit 1; }
id "$USER_NAME" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$USER_NAME"
GROUP_NAME=$(id -gn "$USER_NAME")

W=$(mktemp -d "/tmp/prep-$ROOT_TEST_NAME.XXXXXX")
chmod 755 "$W"
