#!/bin/sh
# The smallest gbox program: say hello and show who and where we are.
echo "hello from gbox"
id
hostname
