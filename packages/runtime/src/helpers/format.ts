import { Errno } from "../errno.js";

/** Most arguments `bpf_snprintf`/`bpf_trace_printk` format (`MAX_BPRINTF_VARARGS`). */
export const MAX_PRINTF_ARGS = 12;

/**
 * Formats like the kernel's `bstr_printf` subset BPF allows: %d %i %u %x %X %c %s %p(x) %% with
 * l/ll/h/hh length modifiers, field width, `-`, `0` and precision. `readString` reads a guest string for
 * `%s`. Returns the text or -EINVAL for a conversion BPF refuses or a missing argument.
 */
export function formatPrintf(
  fmt: string,
  args: readonly bigint[],
  readString: (addr: bigint) => string,
): string | number {
  let out = "";
  let next = 0;
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i] as string;
    if (c !== "%") {
      out += c;
      continue;
    }
    const m = /^([-0+ #]*)(\d*)(?:\.(\d+))?(hh|h|ll|l|z)?([diuxXcsp%])/.exec(fmt.slice(i + 1));
    if (!m) return -Errno.EINVAL;
    i += m[0].length;
    const [, flagText = "", widthText = "", precText, len = "", conv] = m;
    if (conv === "%") {
      out += "%";
      continue;
    }
    const arg = args[next++];
    if (arg === undefined) return -Errno.EINVAL;
    let text: string;
    const bits =
      len === "ll" || len === "l" || len === "z" || conv === "p"
        ? 64
        : len === "h"
          ? 16
          : len === "hh"
            ? 8
            : 32;
    switch (conv) {
      case "d":
      case "i":
        text = BigInt.asIntN(bits, arg).toString();
        break;
      case "u":
        text = BigInt.asUintN(bits, arg).toString();
        break;
      case "x":
        text = BigInt.asUintN(bits, arg).toString(16);
        break;
      case "X":
        text = BigInt.asUintN(bits, arg).toString(16).toUpperCase();
        break;
      case "c":
        text = String.fromCharCode(Number(arg & 0xffn));
        break;
      case "s":
        text = readString(arg);
        if (precText !== undefined) text = text.slice(0, Number(precText));
        break;
      case "p": {
        // %px prints the raw pointer; plain %p hashes it in the kernel, shown here as the raw value.
        if (fmt[i + 1] === "x" || fmt[i + 1] === "K") i++;
        text = BigInt.asUintN(64, arg).toString(16).padStart(16, "0");
        break;
      }
      default:
        return -Errno.EINVAL;
    }
    if (precText !== undefined && conv !== "s" && conv !== "c") text = text.padStart(Number(precText), "0");
    const width = widthText === "" ? 0 : Number(widthText);
    if (text.length < width) {
      if (flagText.includes("-")) text = text.padEnd(width, " ");
      else if (flagText.includes("0") && conv !== "s") {
        const neg = text.startsWith("-");
        text = (neg ? "-" : "") + text.slice(neg ? 1 : 0).padStart(width - (neg ? 1 : 0), "0");
      } else text = text.padStart(width, " ");
    }
    out += text;
  }
  return out;
}
