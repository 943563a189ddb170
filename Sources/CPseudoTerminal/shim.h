// glibc's pseudo-terminal calls (used by the ID-card reader simulator). Swift's Glibc module hides them behind
// _XOPEN_SOURCE, so they are declared here as libc declares them; nothing else is needed to link.
#pragma once
extern int posix_openpt(int flags);
extern int grantpt(int fd);
extern int unlockpt(int fd);
extern char *ptsname(int fd);
