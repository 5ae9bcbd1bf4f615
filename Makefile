# The two set-up commands are `make up` and `make test`; see README.md.
.PHONY: up down test bench clean

up:
	@deploy/dev/stack.sh up

down:
	@deploy/dev/stack.sh down

test:
	@deploy/dev/test.sh

bench:
	@deploy/dev/bench.sh

clean:
	@deploy/dev/stack.sh clean
