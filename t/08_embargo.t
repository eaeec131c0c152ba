# Embargo: before PrepPublishFrom (2035-06-03T20:00:00-06:00) the feed
# answers 503 with Retry-After and a Spanish HTML page naming the
# publication time (the exact sentences send_embargo writes); its state is
# `embargoed`; ?check= says 503; the preview Location (PrepIgnoreEmbargo on)
# serves the files.  Feed: emb.
#
# PrepPublishFrom passing while the server runs (feed desde: the test
# writes conf/desde-publicar.conf with a time 8 s ahead and restarts
# gracefully): embargoed until then, never lifted before, served from that
# second on, and the journal has one "embargo-lifted" line with
# publish_from, written at or after it.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use HTTP::Date ();
use Time::HiRes qw(time sleep);
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
ok !(grep { $_ && $_->{event} eq 'embargo-lifted' } journal($feed)),
    'emb (2035): no "embargo-lifted" in its journal';

# ================================================================ the embargo lifted
{
    my $feed = 'desde';
    my $CDT  = -6 * 3600;
    my $iso  = '2024-06-02T21:05:00-06:00';
    my $pkg  = make_package(out => "$tmp/PREP_desde.tar.gz", corte => $iso, seed => 82, files => 300);
    my ($f) = upload_and_wait($pkg, $feed, timeout => 20);
    ok $f, 'desde: a corte is published' or give_up('desde: no corte');
    is $f && $f->{state}, 'serving', 'desde: serving (no PrepPublishFrom yet)';

    my $from = int(time) + 8;
    my $from_iso = iso_in_zone($from, $CDT);
    my $conf = t_dir() . '/conf/desde-publicar.conf';
    spit($conf, "PrepPublishFrom $from_iso\n");
    my $n = scalar(journal_lines($feed));
    restart_graceful();
    my $s = wait_for(10, sub { my $s = status_feed($feed); $s && defined $s->{publish_from} ? $s : undef });
    ok $s, 'after the graceful restart the status has publish_from';
    is $s && iso_to_epoch($s->{publish_from} // ''), $from, "publish_from is $from_iso";
    is $s && $s->{state}, 'embargoed', 'desde: embargoed now';
    is http(GET => "/prep/$feed/json/main.json")->code, 503, 'json/main.json → 503 during the embargo';

    # Until 1.5 s before PrepPublishFrom: embargoed all along, no line.
    my %states;
    while (time < $from - 1.5) {
        $states{ (status_feed($feed) || {})->{state} // '' }++;
        sleep 0.25;
    }
    is_deeply [sort keys %states], ['embargoed'], 'embargoed until PrepPublishFrom' or diag explain \%states;
    my @early = journal($feed);
    ok !(grep { $_ && $_->{event} eq 'embargo-lifted' } @early[$n .. $#early]),
        'no "embargo-lifted" before PrepPublishFrom';

    my $lifted = wait_for(6, sub { ((status_feed($feed) || {})->{state} // '') eq 'serving' }, 0.1);
    ok $lifted, 'serving once PrepPublishFrom has passed, without a restart';
    cmp_ok time, '>=', $from - 0.5, 'not before it';
    my $r = http(GET => "/prep/$feed/json/main.json");
    is $r->code, 200, 'json/main.json → 200';
    is $r->header('X-PREP-Corte'), $iso, 'the corte loaded before the embargo';

    my $j = wait_journal($feed, 5, sub { $_[0]{event} eq 'embargo-lifted' }, $n);
    ok $j, 'journal: "embargo-lifted"' or diag join "\n", journal_lines($feed);
    $j //= {};
    is $j->{publish_from}, $from_iso, 'embargo-lifted: publish_from, in the feed\'s zone';
    cmp_ok iso_to_epoch($j->{at} // '') // 0, '>=', $from, 'embargo-lifted: written at or after PrepPublishFrom';
    cmp_ok iso_to_epoch($j->{at} // '') // 0, '<=', $from + 3, 'embargo-lifted: within 3 s of it';
    sleep 1.5;
    my @lifts = grep { $_ && $_->{event} eq 'embargo-lifted' } journal($feed);
    is scalar(@lifts), 1, 'exactly one "embargo-lifted" line';
    unlink $conf;
}

done_testing;
