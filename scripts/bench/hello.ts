import express from 'express';

/**
 * Baseline for the benchmark: a bare Express 5 app with one JSON route and no middleware, started as
 * a child process by scripts/bench/run.ts. Whatever the real server does per request costs the gap
 * between this and the credit-line figures.
 */
const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('hello: PORT must be set\n');
  process.exit(1);
}

const app = express();
app.disable('x-powered-by');
app.get('/', (_req, res) => {
  res.json({ data: 'hello', error: null });
});

const server = app.listen(port, '127.0.0.1');
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
