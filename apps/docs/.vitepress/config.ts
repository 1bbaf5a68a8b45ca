import { defineConfig } from "vitepress";

export default defineConfig({
  title: "bpfkit",
  description: "Load, verify, run and study eBPF programs without root or a kernel.",
  cleanUrls: true,
  // The app's README is for people working on the site, not a page of it.
  srcExclude: ["README.md"],
  vite: {
    // Workspace packages are used from their TypeScript sources (the "source" export condition),
    // so the site builds from a clean clone without building the packages first.
    resolve: { conditions: ["source"] },
    ssr: { resolve: { conditions: ["source"], externalConditions: ["source"] } },
  },
  themeConfig: {
    nav: [
      { text: "Guide", link: "/guide/getting-started" },
      { text: "CLI", link: "/guide/cli" },
      { text: "Playground", link: "/playground" },
    ],
    sidebar: [
      {
        text: "Guide",
        items: [
          { text: "Getting started", link: "/guide/getting-started" },
          { text: "The CLI", link: "/guide/cli" },
          { text: "Packages", link: "/guide/packages" },
          { text: "Design lab", link: "/guide/lab" },
          { text: "Playground", link: "/playground" },
        ],
      },
    ],
  },
});
