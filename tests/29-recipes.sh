#!/usr/bin/env bash
# Goal of this test: the receiver recipes of v6fwd(8) are one text, the one
# the tests run. Every literal block marked '.\" recipe: NAME' must be
# shown by man(1) exactly as tests/recipe.py reads it (so that what a user
# copies from the terminal is what ran), and must be run by one of the
# receiver tests (tests/2N-*.sh); and there must be recipes at all.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

command -v man >/dev/null || cannot_run "man" "not installed (apt-get install man-db)"
names=$(recipe --list) || { fail "recipes" "tests/recipe.py cannot read man/v6fwd.8"; finish; }
check "v6fwd(8) has its recipes" test "$(wc -l <<<"$names")" -ge 10
# shellcheck disable=SC2086 # one name a word
shown=$(recipe --shown $names)
for name in $names; do
	check "recipe $name: man shows it as the tests read it" grep -qx "shown $name" <<<"$shown"
	check "recipe $name: a receiver test runs it" \
		grep -Eq "^[[:space:]]*recipe $name( |\$)" "$TOP"/tests/2[0-9]-*.sh
done
finish
