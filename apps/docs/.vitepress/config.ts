import { defineConfig } from "vitepress";

export default defineConfig({
  title: "bpfkit",
  description: "Load, verify, run and study eBPF programs without root or a kernel.",
  cleanUrls: true,
  themeConfig: {
    nav: [
      { text: "Guide", link: "/guide/getting-started" },
      { text: "CLI", link: "/guide/cli" },
    ],
    sidebar: [
      {
        text: "Guide",
        items: [
          { text: "Getting started", link: "/guide/getting-started" },
          { text: "The CLI", link: "/guide/cli" },
          { text: "Packages", link: "/guide/packages" },
          { text: "Design lab", link: "/guide/lab" },
        ],
      },
    ],
  },
});
