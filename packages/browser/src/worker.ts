/** The generic worker entry: imports task modules by URL (a dev server, or plain JavaScript). */
import { serveWorker } from './BrowserWorker.js';

serveWorker();
