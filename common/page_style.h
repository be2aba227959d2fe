/*
 * page_style.h - the frame every web page of ours shares (the portal's pages
 * and the reply page of offload-upload): font, colours, width and heading, so
 * a recipient who goes from one to the other sees one service. A string
 * literal, so each style sheet stays one constant (PAGE_STYLE_FRAME "...").
 */
#ifndef OFFLOAD_PAGE_STYLE_H
#define OFFLOAD_PAGE_STYLE_H

#define PAGE_STYLE_FRAME \
	"*{box-sizing:border-box}\n" \
	"html{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;font-size:100%;" \
	"line-height:1.5;color:#1a1a1a;background:#fff}\n" \
	"body{margin:0;padding:1rem}\n" \
	"main{max-width:48rem;margin:0 auto}\n" \
	"h1{font-size:1.6rem;margin:.5rem 0 1rem}\n"

#endif
