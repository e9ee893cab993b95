#include "high/high.hpp"
int low() {
    return 1;
}
