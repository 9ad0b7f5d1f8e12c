module morestack/bench

go 1.19
