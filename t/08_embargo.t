# Embargo: before PrepPublishFrom (2035-06-03T20:00:00-06:00) the feed
# answers 503 with Retry-After and a Spanish HTML page naming the
# publication time (the exact sentences send_embargo writes); its state is
# `embargoed`; ?check= says 503; the preview Location (PrepIgnoreEmbargo on)
# serves the files.  Feed: emb.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use HTTP::Date ();
use PrepTest;

my $feed = 'emb';
my $tmp  = tmp_dir();

# The page, as the handler writes it (UTF-8 bytes, as this file is).
my $TITLE = 'Resultados preliminares aún no publicados';
my $TEXT = 'La publicación de los resultados comienza el 03/06/2035 a las 20:00 '
         . '(Tiempo del Centro, UTC-06:00).';

sub embargo_page_ok {
    my ($body, $what) = @_;
    like $body, qr{<title>\Q$TITLE\E</title>}, "$what: the title";
    like $body, qr{<h1>\Q$TITLE\E</h1>}, "$what: the heading";
    like $body, qr{<p>\Q$TEXT\E</p>}, "$what: the sentence with the publication time and zone";
}

# Before any package: nothing is served either.
{
    my $r = http(GET => '/prep/emb/index.html');
    is $r->code, 503, 'embargoed feed without a corte: 503';
    embargo_page_ok($r->content, 'embargoed feed without a corte');
}

my $pkg = make_package(out => "$tmp/PREP_emb.tar.gz", corte => '2024-06-02T21:05:00-06:00',
                       seed => 81, files => 300);
my $tree = extract_package($pkg);
my ($f) = upload_and_wait($pkg, $feed, timeout => 20);
ok $f, 'the package is loaded during the embargo' or diag explain status_feed($feed);
is $f && $f->{state}, 'embargoed', 'state: embargoed';

for my $path ('index.html', 'json/main.json', 'datos/PRES_2024.csv', 'no-existe.html') {
    my $r = http(GET => "/prep/emb/$path");
    is $r->code, 503, "$path → 503 during the embargo";
    my $ra = $r->header('Retry-After') // '';
    ok $ra =~ /^\d+$/ ? $ra > 0 : defined HTTP::Date::str2time($ra), "$path: Retry-After ($ra)";
    like $r->header('Content-Type') // '', qr{^text/html}, "$path: an HTML page";
    my $body = $r->content;
    like $body, qr{03/06/2035[^<]*20:00|2035-06-03T20:00}, "$path: the page names the publication time";
    embargo_page_ok($body, $path);
    unlike $body, qr/fechaCorte|Querétaro Seguro/, "$path: nothing of the corte leaks";
}
{
    my $r = http(GET => '/prep/emb/index.html');
    if (($r->header('Retry-After') // '') =~ /^(\d+)$/) {
        my $want = HTTP::Date::str2time('2035-06-04T02:00:00Z') - time;
        cmp_ok abs($1 - $want), '<', 120, 'Retry-After counts the seconds until PrepPublishFrom';
    }
    else {
        my $t = HTTP::Date::str2time($r->header('Retry-After') // '');
        is $t, HTTP::Date::str2time('2035-06-04T02:00:00Z'), 'Retry-After is PrepPublishFrom';
    }
    like $r->content, qr/lang="es"|Tiempo del Centro|UTC-06:00/, 'the page says its zone or language';
}

# The preview Location.
{
    my $r = http(GET => '/vista-previa/emb/json/main.json');
    is $r->code, 200, 'preview (PrepIgnoreEmbargo on): 200';
    ok $r->content eq slurp("$tree/json/main.json"), 'preview: the corte\'s bytes';
    is $r->header('X-PREP-Corte'), '2024-06-02T21:05:00-06:00', 'preview: X-PREP-Corte';
    $r = http(GET => '/vista-previa/emb/index.html');
    my $ins = banner_split($r->content, slurp("$tree/index.html"));
    ok $r->code == 200 && defined $ins && $ins =~ /\Q${\ corte_label('2024-06-02T21:05:00-06:00')}\E/,
        'preview: HTML with the banner';
}

# Status.
is http(GET => '/prep-status?check=emb')->code, 503, '?check=emb → 503 while embargoed';
is status_feed($feed)->{state}, 'embargoed', 'still embargoed';

done_testing;
