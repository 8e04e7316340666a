// ../src/tasks.ts is shared with the CLI; its Node-only E7/E8 tasks read `process.pid`. The page
// re-exports only the players, so this declaration only lets that file type-check without Node's types.
declare const process: { readonly pid: number };
