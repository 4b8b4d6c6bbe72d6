// A tiny Node.js app to deploy on Kubidu: `kubidu deploy` from this directory.
// The platform runs `npm start` with PORT set; GREETING shows how env vars reach the app.
"use strict";

const http = require("node:http");

const port = Number(process.env.PORT || 3000);
const greeting = process.env.GREETING || "Hello from Kubidu";

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const server = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end("ok\n");
    return;
  }
  if (req.url !== "/") {
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("not found\n");
    return;
  }
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
  res.end(
    "<!doctype html><html><head><title>Kubidu Node.js example</title></head>" +
      `<body><h1>${escapeHtml(greeting)}</h1><p>This Node.js app runs on Kubidu.</p></body></html>`,
  );
});

server.listen(port, "0.0.0.0", () => {
  console.log(`listening on port ${port}`);
});

// Stop cleanly on the platform's SIGTERM so deploys and rollbacks drain quickly.
process.on("SIGTERM", () => server.close(() => process.exit(0)));
