// The cold-process row's reference: a C++ program that does nothing (linked as g++ links it by
// default, libstdc++ included).
int main() { return 0; }
