// The peer side of bench/tuf: the same operations as bulkhead-tuf-client, done by tuf-js.
// usage: node tufjs_client.mjs METADATA_DIR METADATA_URL TARGET_DIR TARGET_URL TARGET_PATH
import { Updater } from 'tuf-js';
import path from 'node:path';

const [metadataDir, metadataBaseUrl, targetDir, targetBaseUrl, targetPath] = process.argv.slice(2);
try {
  const updater = new Updater({ metadataDir, metadataBaseUrl, targetDir, targetBaseUrl });
  await updater.refresh();
  const info = await updater.getTargetInfo(targetPath);
  if (!info) throw new Error(`target ${targetPath} not found`);
  await updater.downloadTarget(info, path.join(targetDir, encodeURIComponent(targetPath)));
} catch (error) {
  console.error(`tuf-js: ${error.message}`);
  process.exit(1);
}
