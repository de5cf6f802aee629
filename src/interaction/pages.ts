// The server-rendered pages, by audience (see pages/). Every page is built with the html tag
// (html.ts), which escapes whatever it is given unless it is already SafeHtml.
export * from './pages/common.ts';
export * from './pages/signin.ts';
export * from './pages/account.ts';
export * from './pages/launcher.ts';
