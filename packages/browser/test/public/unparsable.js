// Served as it is (the test server compiles nothing under test/public): a module that does not parse.
export function unfinished( {
