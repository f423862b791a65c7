/** What every source checks first about its input file, with the same messages. */
import { stat } from 'node:fs/promises';
import { ImportError } from '../errors.js';

/** The size of a readable, non-empty regular file; FILE_NOT_FOUND, FILE_IS_FOLDER or FILE_EMPTY otherwise. */
export async function inputSize(file: string): Promise<number> {
  let size: number;
  try {
    const st = await stat(file);
    if (st.isDirectory()) {
      // People drop a folder on the command expecting every file in it: say which command does that.
      throw new ImportError('FILE_IS_FOLDER',
        `${file} is a folder, not a file: give a CSV, XLS or XLSX file (to import every file dropped into a folder, use \`contact-import watch\`)`, { file });
    }
    if (!st.isFile()) throw new ImportError('FILE_NOT_FOUND', `${file} is not a file`, { file });
    size = st.size;
  } catch (e) {
    if (e instanceof ImportError) throw e;
    throw new ImportError('FILE_NOT_FOUND', `cannot open ${file}: no such file`, { file });
  }
  if (size === 0) throw new ImportError('FILE_EMPTY', `${file} is empty (0 bytes)`, { file });
  return size;
}
