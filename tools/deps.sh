#!/bin/sh
# tools/deps.sh check|install|list GROUP...
#   list:    print the Debian packages of the given groups (all when none)
#   check:   exit 0 when all are installed; otherwise install them when
#            running as root, or print the exact command to run and exit 1
#   install: apt-get update and install them (root only; used by .ci/run)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
action=${1:-check}
[ $# -gt 0 ] && shift
groups="$*"

list() {
	grep -v '^[[:space:]]*#' "$here/packages.txt" | while read -r pkg group; do
		[ -n "$pkg" ] || continue
		if [ -z "$groups" ] || echo " $groups " | grep -q " $group "; then
			echo "$pkg"
		fi
	done
}

missing() {
	for p in $(list); do
		st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		[ "$st" = "install ok installed" ] || echo "$p"
	done
}

install() {
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "$@"
}

case "$action" in
list)
	list
	;;
install)
	install $(list)
	;;
check)
	need=$(missing | tr '\n' ' ')
	[ -z "$need" ] && exit 0
	if [ "$(id -u)" = 0 ]; then
		echo "deps: installing missing Debian packages: $need"
		install $need
	else
		echo "deps: missing Debian packages: $need" >&2
		echo "deps: install them with:" >&2
		echo "    sudo apt-get update && sudo apt-get install -y $need" >&2
		exit 1
	fi
	;;
*)
	echo "usage: tools/deps.sh check|install|list [GROUP...]" >&2
	exit 2
	;;
esac
