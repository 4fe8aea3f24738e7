// The C++ workload of `make bench`: N new/delete pairs of small objects
// and strings through a few call levels.
#include <cstdlib>
#include <string>

struct Node {
	long value;
	Node *next;
};

static Node *volatile sink;

__attribute__((noinline)) static void churn_once(long i)
{
	Node *n = new Node{ i, nullptr };
	std::string *s = new std::string(40, 'x');

	sink = n;
	delete s;
	delete n;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;

	for (long i = 0; i < n; i++)
		churn_once(i);
	return 0;
}
