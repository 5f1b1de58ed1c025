// Linux interfaces that Swift's Glibc module leaves out: its umbrella header (SwiftGlibc.h) includes neither
// <sys/epoll.h> nor <sys/eventfd.h>. Header-only: everything here is in libc, so nothing extra is linked.
#pragma once
#include <sys/epoll.h>
#include <sys/eventfd.h>
