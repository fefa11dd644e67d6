#!/usr/bin/env node
// A development mailbox for `npm run demo`: an SMTP server on 127.0.0.1 that accepts every
// message and appends it to a text file, so sign-in codes and invitations can be read without a
// real mail relay. Prints its port on the first line of stdout. Never for production.
'use strict';
const { appendFileSync } = require('node:fs');
const { startSmtpCapture } = require('@causeway/testing');

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: dev-mailbox.js FILE\n');
  process.exit(64);
}

startSmtpCapture().then((capture) => {
  process.stdout.write(`${capture.port}\n`);
  let written = 0;
  setInterval(() => {
    for (; written < capture.messages.length; written += 1) {
      const mail = capture.messages[written];
      appendFileSync(
        file,
        `----- ${new Date().toISOString()}\nTo: ${mail.to.join(', ')}\nSubject: ${mail.subject}\n\n${mail.text}\n`,
        { mode: 0o600 },
      );
    }
  }, 250);
  const stop = () => capture.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
});
