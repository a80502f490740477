// Preloaded (`node --import`) into a CLI child process to play a host whose clock is off by
// TEST_CLOCK_SKEW_MS: the clock-drift check must see it. Not a FIREBRICK_* name: loadConfig refuses unknown ones.
const skew = Number(process.env.TEST_CLOCK_SKEW_MS ?? 0);
const realNow = Date.now;
Date.now = () => realNow() + skew;
