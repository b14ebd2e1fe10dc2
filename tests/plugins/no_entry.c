/*
 * no_entry - a valid shared object that exports a function, but not
 * sw_plugin_entry: the loader must say it is not a Slipway plugin.
 */
#include <slipway/plugin.h>

SW_EXPORT int no_entry_answer(void);

SW_EXPORT int no_entry_answer(void)
{
    return 42;
}
